"""erp-worker's settings: the runtime's plus which ERP adapter to use and where the ERP is."""

from __future__ import annotations

from pydantic import Field

from hub_runtime.config import RuntimeSettings


class ErpWorkerSettings(RuntimeSettings):
    erp_adapter: str = Field("http", description="adapter key in erp_worker.registry (http, selenium-<system>)")
    erp_base_url: str = Field("http://127.0.0.1:8200", pattern=r"^https?://", description="the ERP's base URL")
    erp_timeout_seconds: float = Field(10.0, gt=0)
