"""The `erp` kind: one workshop, whose orders erp-api takes in and erp-worker writes into its ERP through an
ERP adapter (entry-point group `hub.erp_adapters`: `http`, `selenium-demo`, ...)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub_runtime.kinds import InstanceSettings, Kind, plugin_names

ADAPTERS_GROUP = "hub.erp_adapters"


class ErpSettings(InstanceSettings):
    """Which adapter drives which ERP (environment: HUB_ERP_<FIELD>)."""

    adapter: str = Field("http", description="the ERP adapter: an entry point of hub.erp_adapters "
                                              "(http, selenium-demo, ...)")
    base_url: str = Field(pattern=r"^https?://\S+$", description="the ERP's base URL")
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
