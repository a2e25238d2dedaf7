"""The `erp` kind: one workshop, whose orders erp-api takes in and erp-worker writes into its ERP through an
ERP adapter (entry-point group `hub.erp_adapters`: `http`, `selenium-demo`, ...)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hub_runtime.kinds import InstanceSettings, Kind, plugin_names

ADAPTERS_GROUP = "hub.erp_adapters"


class ErpSettings(InstanceSettings):
    """Which adapter drives which ERP (environment: HUB_ERP_<FIELD>)."""

    adapter: str = Field("http", description="the ERP adapter: an entry point of hub.erp_adapters "
                                              "(http, selenium-demo, ...)")
    allow_plain_http: bool = Field(False, description="allow an http:// base_url for an ERP on another machine (its "
                                   "login would cross the network unencrypted); http:// to this machine is allowed")
    base_url: str = Field(pattern=r"^https?://\S+$", description="the ERP's base URL (https://, or http:// to this "
                          "machine unless allow_plain_http)")
    timeout_seconds: float = Field(10.0, gt=0, le=300, description="per ERP request or page wait")
    always_look_up: bool = Field(False, description="look for an existing line with the order's uniqueid on every "
                                 "attempt, also the first (e.g. while another system may still write lines with "
                                 "these uniqueids); by default only retries look")

    @field_validator("adapter")
    @classmethod
    def _installed(cls, adapter: str) -> str:
        if adapter not in (installed := plugin_names(ADAPTERS_GROUP)):
            raise ValueError(f"{adapter!r} is not an installed ERP adapter (installed: {', '.join(installed)})")
        return adapter

    @field_validator("base_url")
    @classmethod
    def _safe_url(cls, url: str, info: ValidationInfo) -> str:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:  # it would show in logs and in the registry
            raise ValueError("must not carry a user or password: store the ERP login as the integration's "
                             "credentials")
        if not parts.hostname:
            raise ValueError("must name a host")
        if parts.scheme == "http" and not info.data.get("allow_plain_http") and not _loopback(parts.hostname):
            raise ValueError(f"http:// to {parts.hostname} would send the ERP login unencrypted; use https://, or "
                             "set allow_plain_http (e.g. for an ERP on a private network)")
        return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ErpCredentials(BaseModel):
    """The workshop's ERP login, used for orders that carry none of their own."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500, json_schema_extra={"format": "password", "writeOnly": True})

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"ErpCredentials(username={self.username!r}, password='***')"


KIND = Kind(
    name="erp",
    description="a workshop ERP: OilMat's oil orders become order lines on the customer's worksheet",
    settings=ErpSettings,
    credentials=ErpCredentials,
    api="erp-api",
    worker="erp-worker",
    env_prefix="HUB_ERP_",
)
